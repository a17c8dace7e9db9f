"""Runs first on a board, before anything of ugate is imported: counts the
boot and picks the code slot (an over-the-air update on trial, or a roll
back to the code that ran before it), see board_boot. Wi-Fi, the clock and
the watchdog come up in main.py. The unix port does not run this file."""
try:
    import board_boot

    board_boot.start()
    del board_boot  # main.py loads it again while it needs it
except Exception as exc:  # never keep the board from reaching main.py
    print("boot: {!r}".format(exc))
