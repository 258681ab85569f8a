from agentlab.serve import main

main("agent")
