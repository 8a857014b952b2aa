"""The seed article's stevedore example, ported to pike line for line.

Run it after `pip install examples/stevedore_style` (which declares the entry
points); main_drop_in.py makes the same calls with this folder as the source.
"""

from pike.named import DriverManager, ExtensionManager

if __name__ == "__main__":
    mydriver = DriverManager(namespace="mydrivers", name="simple_driver1")
    print(mydriver.driver)
    print(mydriver.driver().get_name())

    extension = ExtensionManager(namespace="myextensions")
    print(extension.extensions)

    for ext in extension.extensions:
        print(ext.plugin().get_name())
