package io.cacheai.cli;

import io.cacheai.serve.ServerInfo;
import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * Entry point of the {@code cacheai} command line. Each job is a subcommand ({@code serve}, {@code
 * infer}; {@code compress}, {@code eval}, {@code bench} join them the same way, in {@link
 * #commandLine}).
 *
 * <p>Exit codes: 0 success, 2 usage error (unknown option, bad value, no subcommand), 1 failure
 * while running (reported as one line on stderr).
 */
@Command(
    name = "cacheai",
    mixinStandardHelpOptions = true,
    versionProvider = Main.Version.class,
    description =
        "Serve ONNX models over the Open Inference Protocol (KServe v2 gRPC), and query them.")
public final class Main implements Runnable {
  @Spec private CommandSpec spec;

  @Override
  public void run() {
    throw new ParameterException(spec.commandLine(), "missing subcommand, e.g. 'cacheai serve'");
  }

  public static void main(String[] args) {
    System.exit(commandLine(new ServeCommand(ServeCommand.onnxLoader())).execute(args));
  }

  /** The command tree with its exit-code and error conventions; tests run it with their doubles. */
  static CommandLine commandLine(ServeCommand serve) {
    CommandLine commandLine = new CommandLine(new Main());
    commandLine.addSubcommand("serve", serve);
    commandLine.addSubcommand("bundle", new BundleCommand());
    commandLine.addSubcommand("infer", new InferCommand());
    commandLine.setExecutionExceptionHandler(
        (exception, failed, parseResult) -> {
          PrintWriter err = failed.getErr();
          err.println("cacheai: " + failed.getCommandName() + " failed: " + describe(exception));
          err.flush();
          return CommandLine.ExitCode.SOFTWARE;
        });
    return commandLine;
  }

  private static String describe(Throwable exception) {
    return exception.getMessage() == null ? exception.toString() : exception.getMessage();
  }

  /** Reports the server version for {@code --version}. */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      return new String[] {"cacheai " + ServerInfo.version()};
    }
  }
}
