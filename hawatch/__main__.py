from hawatch.cli import main

raise SystemExit(main())
