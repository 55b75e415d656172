"""`python dream.py` in a checkout is `genie-dream` (genie/commands/dream.py); see README."""

from genie.commands.dream import main

if __name__ == "__main__":
    main()
