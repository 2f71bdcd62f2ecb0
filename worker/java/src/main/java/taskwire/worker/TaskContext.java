package taskwire.worker;

import java.util.List;
import java.util.Map;

/** What a handler sees of its attempt. */
public interface TaskContext {
  String taskId();

  /** Sends a text chunk (when the assignment asked for streaming); throws once the attempt was stopped. */
  void emit(String text) throws Aborted;

  /** Sleeps ms, or throws Aborted as soon as the attempt is stopped. */
  void waitMs(long ms) throws Aborted;

  /** Throws Aborted if the attempt was stopped. */
  void check() throws Aborted;

  /** Runs r (once) when the attempt is stopped, e.g. to close a connection. */
  void onAbort(Runnable r);

  /** Token counts for the final's Usage (an LLM's prompt/completion tokens). */
  void usage(long promptTokens, long completionTokens, long totalTokens);

  List<String> secretNames();

  /** The task's secrets, fetched from the master with FetchSecrets. */
  Map<String, String> secrets() throws TaskFailure;

  /**
   * The bytes of a blob the task's input names (FetchBlob, streamed); more than maxBytes is
   * BAD_INPUT. Default: a context without blob access to the master.
   */
  default byte[] fetchBlob(String blobId, long maxBytes) throws TaskFailure {
    throw new TaskFailure("UNSUPPORTED", "this worker has no blob access to the master", false);
  }

  /** Stores data as a blob (PutBlob, streamed); answers its id (sha256 hex). */
  default String putBlob(byte[] data, String contentType) throws TaskFailure {
    throw new TaskFailure("UNSUPPORTED", "this worker has no blob access to the master", false);
  }
}
