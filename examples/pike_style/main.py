"""The Pike example of the article "A Look at two Python Plugin Managers: Stevedore
and Pike": load every class in a drivers folder."""

import os

from pike.manager import PikeManager

if __name__ == "__main__":
    driver_path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "drivers")

    with PikeManager([driver_path]) as mgr:
        classes = mgr.get_classes()
        print(classes)

        for item in classes:
            obj = item()
            print(obj.get_name())
