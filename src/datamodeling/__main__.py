from datamodeling.cli import main

raise SystemExit(main())
