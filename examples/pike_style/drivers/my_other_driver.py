class MyOtherDriver(object):
    def get_name(self):
        return "This is MyOtherDriver"
