"""`python prepare.py` in a checkout is `genie-prepare` (genie/commands/prepare.py); see README."""

from genie.commands.prepare import main

if __name__ == "__main__":
    main()
