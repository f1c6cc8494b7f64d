// franz — consumer-group benchmark (see the file comment when written).
int main() { return 0; }
