package io.cacheai.cli;

/** Entry point of the cacheai command line. */
public final class Main {
  private Main() {}

  public static void main(String[] args) {
    System.out.println("cacheai");
  }
}
