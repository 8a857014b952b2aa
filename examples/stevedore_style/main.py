"""The stevedore example of the article "A Look at two Python Plugin Managers:
Stevedore and Pike"; only the import line is changed.

Run it after `pip install examples/stevedore_style` (which declares the entry
points); main_drop_in.py makes the same calls with this folder as the source.
"""

from pike.named import driver, extension

if __name__ == "__main__":
    mydriver = driver.DriverManager(namespace="mydrivers", name="simple_driver1")
    print(mydriver.driver)
    print(mydriver.driver().get_name())

    extension = extension.ExtensionManager(namespace="myextensions")
    print(extension.extensions)

    for ext in extension.extensions:
        print(ext.plugin().get_name())
