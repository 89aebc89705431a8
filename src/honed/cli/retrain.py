"""stub"""


def register(verbs) -> None:
    pass
