"""The terminal side of the command line: options, inputs, colour, the spinner, streams and the process."""
