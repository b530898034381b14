Console.Error.WriteLine("netdiag-operator: not implemented yet");
return 2;
