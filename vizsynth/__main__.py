import sys

from vizsynth.cli import main

sys.exit(main())
