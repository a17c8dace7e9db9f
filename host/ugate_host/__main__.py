import sys

from ugate_host.cli import main

sys.exit(main())
