# irq sources
