/* A shared object that is not a racktel driver: it lacks the entry symbol. */
int racktel_something_else(void);
int racktel_something_else(void) { return 42; }
