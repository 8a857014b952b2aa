"""The plugins of tests/programs/stevedore_app.py (an installed distribution)."""


class Simple:
    def __init__(self, width):
        self.width = width

    def format(self, data):
        for name, value in sorted(data.items()):
            yield f"{name}={value};"


class Fields(Simple):
    def format(self, data):
        for name, value in sorted(data.items()):
            yield f":{name}: {value[: self.width]} "


class Upper(Simple):
    def format(self, data):
        for chunk in super().format(data):
            yield chunk.upper()


def on_save_log(doc):
    return f"logged {doc}"


def on_save_backup(doc):
    return f"backed up {doc}"
