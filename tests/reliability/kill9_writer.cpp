// franz — kill9_writer (placeholder; being written).
int main() { return 0; }
