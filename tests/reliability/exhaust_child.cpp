// franz — exhaust_child (placeholder; being written).
int main() { return 0; }
