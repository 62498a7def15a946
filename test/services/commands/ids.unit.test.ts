import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { nameBasedUuid } from '../../../services/commands/ids.js';

/**
 * Stored events carry these ids: a retried step or a re-imported row finds its events by them, so they may
 * never change. The expected values are RFC 9562 version 5 UUIDs in Duban's namespace, as Python's
 * `uuid.uuid5(UUID('6f1c2d0e-9a8b-4c7d-8e5f-40312a7b9c1d'), name)` gives them.
 */
describe('nameBasedUuid', () => {
  it.each([
    ['', '74638235-fcea-5c25-9c78-49842ee82238'],
    ['import/plan_measures/h-1/m-1/0', 'f46351a2-f732-5301-bde7-7d87bbe5b97e'],
    ['problem-p-7/clock/3', '94d774da-ac03-5126-b276-af6f1fa9335b'],
    ['迪庆藏族自治州/户编号/😀', '2c1d09ff-7c52-547a-85c9-b123f8440825'],
    // One name for each value (0-f) of the SHA-1 digit the variant replaces.
    ['row-12', '3b66f35d-293c-526a-8d42-75c9629c4bb8'],
    ['row-13', 'f4bc59cc-c950-56b1-97d4-73fdd86ee2a2'],
    ['row-15', '7f88842a-c4b9-5b63-a300-210bdb702b33'],
    ['row-5', '9c7d2395-3907-57d6-b9be-08b8e20c9824'],
    ['row-22', '7d747ff3-5211-582b-8343-91050bd0d36b'],
    ['row-26', '16d02ca8-1245-5745-9ea6-1217574af963'],
    ['row-7', '470afba4-d88f-5e22-a9d2-d0bdfc1c17a9'],
    ['row-8', '0d0aa8b4-7599-513d-bd7a-f9dd41ce1ccc'],
    ['row-18', '36b08963-9a90-5250-8291-ffc99d383668'],
    ['row-2', '4bed93ca-d59c-5009-90e7-cb336030e288'],
    ['row-33', 'dd7a58c6-e7ee-5889-a5f2-a109ef0b8697'],
    ['row-3', 'cce39242-f598-5ba2-bdb2-ffe34cc5e6d0'],
    ['row-16', '19e169c8-fa96-5a5b-8859-32cab414e5ac'],
    ['row-9', '65e9cef9-bfb7-54e4-90fd-e775600db248'],
    ['row-1', '3cd0edac-0e9b-506b-a420-c18236e37ded'],
    ['row-0', 'ff1494a5-701e-5e80-bab3-2a96877ac62d'],
  ])('names %j %s', (name, id) => {
    expect(nameBasedUuid(name)).toBe(id);
  });

  it('names long names, and names around the length its buffer holds, as RFC 9562 does', () => {
    const reference = (name: string) => {
      const hex = createHash('sha1').update(Buffer.from('6f1c2d0e9a8b4c7d8e5f40312a7b9c1d', 'hex')).update(name, 'utf8').digest('hex');
      const variant = ((Number.parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
      return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
    };
    for (let length = 990; length <= 1030; length++) {
      for (const tail of ['', '😀', '户', 'é', '\ud800']) {
        const name = 'x'.repeat(length) + tail;
        expect(nameBasedUuid(name)).toBe(reference(name));
      }
    }
    const long = '迪庆'.repeat(5000);
    expect(nameBasedUuid(long)).toBe(reference(long));
  });
});
