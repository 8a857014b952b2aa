class SimpleDriver(object):
    def get_name(self):
        return "This is SimpleDriver"
