from ivcrush_tui.cli import main

raise SystemExit(main())
