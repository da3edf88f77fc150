"""The child process of :class:`api.db.writer.InChild`: writes the batches it reads.

    python -m api.db.writer_child DATABASE_URL module:function JOBS_FD ANSWERS_FD

Reads batches (lists of pickled jobs) from JOBS_FD, writes each with
``module:function(session, jobs)`` in one transaction (:func:`api.db.writer.write_batch`: one
bad job fails alone) and sends the answers (each pickled) to ANSWERS_FD. It says ``ready`` once
it has imported the handler and opened the database. It
ignores SIGINT and SIGTERM (a server's Ctrl-C reaches its whole process group): it stops when
the pipe closes, after the batch it has, so a batch it was given is finished. Between
batches, its answers sent, it checkpoints a SQLite database's WAL.
"""

from __future__ import annotations

import logging
import pickle
import signal
import sys

from api.db.engine import Database
from api.db.writer import pickled, receive_frame, resolve, send_frame, write_batch


def main(argv: list[str]) -> int:
    url, handler, jobs_fd, answers_fd = argv
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: writer: %(message)s")
    jobs = open(int(jobs_fd), "rb")  # noqa: SIM115 (the process's life)
    answers = open(int(answers_fd), "wb", buffering=0)  # noqa: SIM115
    try:
        handle = resolve(handler)
        db = Database(url, upgrade=False, checkpoints="elsewhere")
    except Exception as exc:
        send_frame(answers, f"{type(exc).__name__}: {exc}")
        return 1
    send_frame(answers, "ready")
    while True:
        try:
            batch = receive_frame(jobs)
        except EOFError:
            break
        jobs_of_batch = [pickle.loads(job) for job in batch]
        written = write_batch(db.sessions, handle, db.writers_turn, jobs_of_batch)
        send_frame(answers, [pickled(answer) for answer in written])
        try:
            db.checkpoint_between_writes()
        except Exception:  # busy for a moment: after the next batch
            logging.warning("could not checkpoint the WAL", exc_info=True)
    db.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
