Console.Error.WriteLine("netdiag-probe: not implemented yet");
return 2;
