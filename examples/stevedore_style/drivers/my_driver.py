# Drivers


class SimpleDriver1(object):
    def get_name(self):
        return "This is SimpleDriver1"


class SimpleDriver2(object):
    def get_name(self):
        return "This is SimpleDriver2"
