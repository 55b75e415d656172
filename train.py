"""`python train.py` in a checkout is `genie-train` (genie/commands/train.py); see README."""

from genie.commands.train import main

if __name__ == "__main__":
    main()
