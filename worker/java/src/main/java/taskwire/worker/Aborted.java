package taskwire.worker;

/** The attempt was stopped from outside: kind is cancel, deadline or shutdown. */
public final class Aborted extends Exception {
  public final String kind;

  public Aborted(String kind, String reason) {
    super(reason);
    this.kind = kind;
  }
}
