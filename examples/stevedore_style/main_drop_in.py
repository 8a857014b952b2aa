"""The same calls as main.py, with this folder as a drop-in plugin source.

Nothing to install: entry_points.txt beside this file names the plugins, and
pike imports them from the folder (in isolation, cleaned up at the end).
"""

import os

from pike.named import driver, extension

HERE = os.path.dirname(os.path.abspath(__file__))

if __name__ == "__main__":
    mydriver = driver.DriverManager(
        namespace="mydrivers", name="simple_driver1", search_paths=[HERE]
    )
    print(mydriver.driver)
    print(mydriver.driver().get_name())

    extension = extension.ExtensionManager(namespace="myextensions", search_paths=[HERE])
    print(extension.extensions)

    for ext in extension.extensions:
        print(ext.plugin().get_name())
