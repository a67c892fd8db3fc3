# The yardstick sandbox runner: runs one program as __main__ inside the sandbox and
# records how it ended, so the harness can tell an assertion from a crash.
#
# Invoked as `python3 -I -B -c <this file> PROGRAM`, with a status file open on fd 0.
# It moves that file to a private descriptor, gives the program /dev/null as stdin,
# writes {"started": true} before the program runs and, when the program ends by
# returning, by SystemExit or by an uncaught exception, {"started": true,
# "finished": true, "exit_code": N, "exception": {...} | null}. A program that dies of
# a signal, calls os._exit or is killed leaves only "started" behind. Only the first
# process writes: children made by os.fork that run on into this code stay silent.
import sys


def _yardstick_run():
    import json
    import os
    import runpy
    import traceback

    program = sys.argv[1]
    sys.argv = [program]
    status_fd = os.dup(0)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.set_inheritable(status_fd, False)
    me = os.getpid()

    def record(status):
        if os.getpid() != me:
            return
        try:
            data = json.dumps(status).encode()
            os.lseek(status_fd, 0, os.SEEK_SET)
            os.ftruncate(status_fd, 0)
            os.write(status_fd, data)
        except BaseException:
            pass

    def describe(error):
        line = None
        tb = error.__traceback__
        while tb is not None:
            if tb.tb_frame.f_code.co_filename == program:
                line = tb.tb_lineno
            tb = tb.tb_next
        if isinstance(error, SyntaxError) and error.filename == program:
            line = error.lineno
        kind = type(error)
        name = kind.__qualname__
        if kind.__module__ not in ("builtins", "__main__"):
            name = kind.__module__ + "." + name
        try:
            message = str(error)
        except BaseException:
            message = "<unprintable>"
        errno = getattr(error, "errno", None)
        return {
            "type": name,
            "message": message[:4000],
            "errno": errno if isinstance(errno, int) else None,
            "line": line,
        }

    def print_traceback(error):
        tb = error.__traceback__
        while tb is not None and tb.tb_frame.f_code.co_filename != program:
            tb = tb.tb_next
        try:
            traceback.print_exception(type(error), error, tb)
        except BaseException:
            pass

    record({"started": True})
    exception = None
    try:
        runpy.run_path(program, run_name="__main__")
        code = 0
    except SystemExit as error:
        code = error.code
        if code is None:
            code = 0
        elif not isinstance(code, int):
            try:
                print(code, file=sys.stderr)
            except BaseException:
                pass
            code = 1
    except BaseException as error:
        exception = describe(error)
        print_traceback(error)
        code = 1
    record({"started": True, "finished": True, "exit_code": code, "exception": exception})
    return code


sys.exit(_yardstick_run())
