// The WAL checkpointer's thread (wal-checkpointer.ts starts it): plain JavaScript, so it needs no loader.
// Each 'checkpoint' runs one PASSIVE checkpoint on this thread's own connection and answers when done.
import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';

// The appending connection created the file; a file gone since is not made again, empty.
// better-sqlite3's own error class reaches the parent without its message: a plain Error carries it.
const db = (() => {
  try {
    return new Database(workerData.path, { fileMustExist: true });
  } catch (error) {
    throw new Error(`the WAL checkpoint thread cannot open ${workerData.path}: ${error.message} (${error.code})`);
  }
})();
// The checkpoint syncs the WAL and then the file as this connection's setting says: the appender's.
db.pragma(`synchronous = ${workerData.synchronous}`);

parentPort.on('message', (message) => {
  if (message === 'close') {
    db.close();
    parentPort.close();
    return;
  }
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch {
    // Busy with the appender's own checkpoint, or the disk refused: the next request tries again.
  }
  parentPort.postMessage('done');
});
