"""The monitors' replicated state machine (`state.MonState`) and command table
(`commands.COMMANDS`, `commands.parse_argv`, `commands.handle_command`)."""
