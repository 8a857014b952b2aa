# Extensions


class SimpleExtension1(object):
    def get_name(self):
        return "This is SimpleExtension1"


class SimpleExtension2(object):
    def get_name(self):
        return "This is SimpleExtension2"
