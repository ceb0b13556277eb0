"""Engine: loops, hooks, optimizer constructors."""
