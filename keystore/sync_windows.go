package keystore

// syncDir is a no-op on Windows: directories cannot be opened for fsync there, and MoveFileEx
// (used by os.Rename) is already durable enough for this purpose.
func syncDir(string) error { return nil }
