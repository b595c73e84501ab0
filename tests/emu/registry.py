"""The list of emulator tests; `@test` adds a function taking a temp dir."""
TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn
