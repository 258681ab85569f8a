from agentlab.serve import main

main("model")
