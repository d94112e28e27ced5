from context_handoff.cli import main

main()
