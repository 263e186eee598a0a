import sys

from .cli.__init__ import main

sys.exit(main())
