from langir.cli import main

main()
