from appliance.programs.cli import main

raise SystemExit(main())
