"""Runs launcher scripts for the tests, each in a process of its own, without paying TensorFlow's import each time.

The tests run a launcher as a user does, as a separate process with its own arguments,
environment, working directory, output and exit code, a few hundred times. Most of each
such process's start is importing TensorFlow and the library. This server does that once
(after ``prepare_process``, as a launcher would) and then forks a child per request, which
runs the script as ``__main__``: its exit, an uncaught exception's traceback and its
exit code are Python's own. ``conftest.run_command`` sends the requests, and uses a
plain subprocess where an environment variable read at TensorFlow's import differs.

Protocol, one JSON line each way: a request {"argv", "cwd", "env", "stdout", "stderr"}
(the output files' paths) is answered by {"pid"} when the child starts and by
{"status"} (``os.waitpid``'s) when it ends.
"""

import json
import os
import runpy
import sys

from infogan_tf.process import prepare_process

prepare_process()

import keras  # noqa: E402, F401
import tensorflow as tf  # noqa: E402, F401
from infogan_tf_launchers import command  # noqa: E402, F401

from infogan_tf import experiment  # noqa: E402, F401


def child(request: dict) -> None:
    """Become the requested process: the script runs as ``__main__`` and the interpreter exits as it would."""
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    stdin = os.open(os.devnull, os.O_RDONLY)
    os.dup2(stdin, 0)
    for fd, path in ((1, request["stdout"]), (2, request["stderr"])):
        out = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(out, fd)
        os.close(out)
    script = request["argv"][0]
    sys.argv = list(request["argv"])
    sys.path[0] = os.path.dirname(os.path.abspath(script))
    runpy.run_path(script, run_name="__main__")


def serve() -> None:
    requests, replies = sys.stdin, os.fdopen(os.dup(1), "w", buffering=1)
    for line in requests:
        request = json.loads(line)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            replies.close()
            child(request)
            return
        replies.write(json.dumps({"pid": pid}) + "\n")
        _, status = os.waitpid(pid, 0)
        replies.write(json.dumps({"status": status}) + "\n")


if __name__ == "__main__":
    serve()
