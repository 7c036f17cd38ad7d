/* placeholder: module not written yet */
#include "config.h"
