from seqlab.cli import main

if __name__ == "__main__":  # guard so spawn-based worker processes can import this module
    raise SystemExit(main())
