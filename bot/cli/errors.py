"""The one error every command raises for input the user can fix."""


class CommandError(Exception):
    """Input the user can fix: printed as one ``qabot: error: ...`` line, with exit status 2."""
