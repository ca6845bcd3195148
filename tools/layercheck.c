/* layercheck.c - an empty program linked with every object of one core layer and only the layers
 * it may use (CMakeLists.txt, CDL_DEPS_<layer>): it links only if the layer calls nothing above. */
int main(void) { return 0; }
