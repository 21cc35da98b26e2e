/**
 * Name prefix of the per-run temp folders that hold a LangGraph server's
 * `.langgraph_api/` state. Shared by the launcher (creates them) and the
 * server child (removes its own when orphaned), which checks the prefix so it
 * never deletes a folder it was not made for.
 */
export const STATE_DIR_PREFIX = "agentgate-langgraph-";
