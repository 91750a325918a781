"""The client side of the `tekton-runner` command: talks to a runner over HTTP only (never to its chain,
store or cluster), shows progress and logs. Called by tekton_runner/cli.py."""
