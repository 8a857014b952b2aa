from bases import Extension


class ShoutExtension(Extension):
    def get_name(self) -> str:
        return "This is ShoutExtension"

    def transform(self, text: str) -> str:
        return text.upper()
